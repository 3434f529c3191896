/** The handler every idempotency bench row runs: cheap, so the middleware's cost shows. */
let next = 0;

export interface BenchOrder {
  id: string;
  items: unknown;
  status: 'pending';
}

export function createOrder(body: unknown): BenchOrder {
  next++;
  return {
    id: `ord_${next}`,
    items: (body as { items?: unknown })?.items ?? [],
    status: 'pending',
  };
}

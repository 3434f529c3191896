/**
 * The example's "database": demo users, a product catalogue and orders, all in memory. Every
 * method is async, as a real database client's would be. Framework-agnostic: the Express and Koa
 * examples keep identical copies.
 */
import { randomBytes, randomUUID, scryptSync } from 'node:crypto';

export type Role = 'admin' | 'customer';

export interface User {
  username: string;
  role: Role;
  /** scrypt(password, salt), 32 bytes. */
  passwordHash: Buffer;
  salt: Buffer;
}

export interface Product {
  id: string;
  name: string;
  priceCents: number;
  currency: 'EUR';
}

export interface OrderItem {
  productId: string;
  name: string;
  quantity: number;
  /** Price when the order was placed; later catalogue changes do not touch it. */
  unitPriceCents: number;
}

export interface Order {
  id: string;
  username: string;
  items: OrderItem[];
  totalCents: number;
  currency: 'EUR';
  status: 'pending' | 'paid';
  createdAt: string;
  paidAt?: string;
  paymentId?: string;
}

export interface Payment {
  id: string;
  orderId: string;
  amountCents: number;
  currency: 'EUR';
  paidAt: string;
}

/** The demo accounts printed at start. Alice may change prices; Bob only shops. */
export const DEMO_USERS: readonly { username: string; password: string; role: Role }[] = [
  { username: 'alice', password: 'wonderland', role: 'admin' },
  { username: 'bob', password: 'builder', role: 'customer' },
];

const PRODUCTS: readonly Product[] = [
  { id: 'p-espresso', name: 'Espresso beans, 1 kg', priceCents: 2490, currency: 'EUR' },
  { id: 'p-grinder', name: 'Hand grinder', priceCents: 8900, currency: 'EUR' },
  { id: 'p-kettle', name: 'Gooseneck kettle', priceCents: 5450, currency: 'EUR' },
  { id: 'p-filter', name: 'Paper filters, 100 pcs', priceCents: 690, currency: 'EUR' },
  { id: 'p-mug', name: 'Stoneware mug', priceCents: 1800, currency: 'EUR' },
];

export interface DataOptions {
  /** Simulated latency of the catalogue query, ms. @default 150 */
  catalogueDelayMs?: number;
}

export type OrderLine = { productId: string; quantity: number };

export type CreateOrderResult =
  | { kind: 'created'; order: Order }
  | { kind: 'unknown-product'; productId: string };

export type PayOrderResult =
  | { kind: 'paid'; order: Order; payment: Payment }
  | { kind: 'not-found' }
  | { kind: 'already-paid'; order: Order };

export interface Data {
  findUser(username: string): Promise<User | undefined>;
  /** The whole catalogue: deliberately slow, the query a response cache would save. */
  listProducts(): Promise<Product[]>;
  getProduct(id: string): Promise<Product | undefined>;
  updatePrice(id: string, priceCents: number): Promise<Product | undefined>;
  createOrder(username: string, lines: readonly OrderLine[]): Promise<CreateOrderResult>;
  listOrders(username: string): Promise<Order[]>;
  /** Only the owner's orders are found: another user's order is "not found", not "forbidden". */
  getOrder(username: string, id: string): Promise<Order | undefined>;
  payOrder(username: string, id: string): Promise<PayOrderResult>;
}

/** Hash a password the way {@link User.passwordHash} stores it. */
export function hashPassword(password: string, salt: Buffer): Buffer {
  return scryptSync(password, salt, 32);
}

export function createData(options: DataOptions = {}): Data {
  const catalogueDelayMs = options.catalogueDelayMs ?? 150;
  const users = new Map<string, User>();
  for (const demo of DEMO_USERS) {
    const salt = randomBytes(16);
    users.set(demo.username, {
      username: demo.username,
      role: demo.role,
      salt,
      passwordHash: hashPassword(demo.password, salt),
    });
  }
  const products = new Map(PRODUCTS.map((product) => [product.id, { ...product }]));
  const orders = new Map<string, Order>();
  const copy = <T>(value: T): T => structuredClone(value);

  return {
    async findUser(username) {
      return users.get(username);
    },

    async listProducts() {
      await new Promise((resolve) => setTimeout(resolve, catalogueDelayMs));
      return [...products.values()].map(copy);
    },

    async getProduct(id) {
      const product = products.get(id);
      return product && copy(product);
    },

    async updatePrice(id, priceCents) {
      const product = products.get(id);
      if (!product) return undefined;
      product.priceCents = priceCents;
      return copy(product);
    },

    async createOrder(username, lines) {
      const items: OrderItem[] = [];
      for (const line of lines) {
        const product = products.get(line.productId);
        if (!product) return { kind: 'unknown-product', productId: line.productId };
        items.push({
          productId: product.id,
          name: product.name,
          quantity: line.quantity,
          unitPriceCents: product.priceCents,
        });
      }
      const order: Order = {
        id: `ord_${randomUUID()}`,
        username,
        items,
        totalCents: items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0),
        currency: 'EUR',
        status: 'pending',
        createdAt: new Date().toISOString(),
      };
      orders.set(order.id, order);
      return { kind: 'created', order: copy(order) };
    },

    async listOrders(username) {
      return [...orders.values()].filter((order) => order.username === username).map(copy);
    },

    async getOrder(username, id) {
      const order = orders.get(id);
      return order?.username === username ? copy(order) : undefined;
    },

    async payOrder(username, id) {
      const order = orders.get(id);
      if (order?.username !== username) return { kind: 'not-found' };
      if (order.status === 'paid') return { kind: 'already-paid', order: copy(order) };
      const payment: Payment = {
        id: `pay_${randomUUID()}`,
        orderId: order.id,
        amountCents: order.totalCents,
        currency: order.currency,
        paidAt: new Date().toISOString(),
      };
      order.status = 'paid';
      order.paidAt = payment.paidAt;
      order.paymentId = payment.id;
      return { kind: 'paid', order: copy(order), payment };
    },
  };
}

import { describe, expect, it } from 'vitest';
import { dispatchRequest } from '../../src/index.js';

const init = { url: '/page', headers: {}, remoteAddress: '127.0.0.1', token: 't', timeoutMs: 1000 };

describe('dispatchRequest (a background refresh through the app)', () => {
  it('resolves once the response has finished', async () => {
    let url: string | undefined;
    await dispatchRequest((req, res) => {
      url = req.url;
      res.end('ok');
    }, init);
    expect(url).toBe('/page');
  });

  it('rejects with what a listener throws, so the refresh reports it instead of dropping it', async () => {
    const boom = new Error('broken app');
    await expect(
      dispatchRequest(() => {
        throw boom;
      }, init),
    ).rejects.toBe(boom);
  });
});

// node-redis v3 ships no types; apicache's Redis store is written for it. The few members the
// apicache-redis bench row uses are typed here.
declare module 'redis' {
  interface RedisV3Client {
    readonly connected: boolean;
    on(event: 'error', listener: (error: Error) => void): void;
    once(event: 'ready', listener: () => void): void;
    quit(callback?: () => void): boolean;
  }
  const redis: {
    createClient(options: { url: string; prefix?: string }): RedisV3Client;
  };
  export default redis;
}

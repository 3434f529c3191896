// What both example apps share: the domain (users, catalogue, orders), auth, validation,
// problem types, the health check and the server bootstrap. Only routing is per framework.
export * from './account.js';
export * from './auth.js';
export * from './data.js';
export * from './health.js';
export * from './problems.js';
export * from './serve.js';
export * from './validation.js';

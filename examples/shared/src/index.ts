// What both example apps share: the domain (users, catalogue, orders), auth, validation,
// problem types, the health check, the server bootstrap, and observability (metrics, the
// operator page). Only routing is per framework.
export * from './account.js';
export * from './auth.js';
export * from './data.js';
export * from './graphql.js';
export * from './health.js';
export * from './operator.js';
export * from './operator-page.js';
export * from './problems.js';
export * from './serve.js';
export * from './telemetry.js';
export * from './validation.js';

/**
 * The layers' dependency rules (see README, Layout), checked by `npm run lint`. Type-only imports
 * count: a port belongs where it is declared.
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-independent',
      comment: 'The domain declares its ports (server/domain/ports.ts); persistence, HTTP and webhook delivery implement or use them, never the other way round.',
      severity: 'error',
      from: { path: '^server/domain/' },
      to: { path: ['^server/(db|http|webhooks)/', '^server/(app|server|services|config|main|bootstrap|outbox-repair)\\.ts$'] },
    },
    {
      name: 'http-does-not-touch-persistence',
      comment: 'Routes call use cases (server/domain); only the composition root (server/services.ts) wires repositories.',
      severity: 'error',
      from: { path: '^server/http/' },
      to: { path: '^server/db/' },
    },
    {
      name: 'dialects-are-independent',
      comment: 'One adapter per dialect: v1, v3 and v4 share only server/http/*.ts, never each other.',
      severity: 'error',
      from: { path: '^server/http/(v[0-9]+)/' },
      to: { path: '^server/http/v[0-9]+/', pathNot: '^server/http/$1/' },
    },
    {
      name: 'webhooks-do-not-import-http',
      comment: 'Webhook delivery sends stored events; their payloads are built by the dialect that owns their shape (server/http/v3/event-payloads.ts), wired in by the composition root.',
      severity: 'error',
      from: { path: '^server/webhooks/' },
      to: { path: '^server/http/' },
    },
    {
      name: 'engine-is-self-contained',
      comment: 'The embedded MongoDB engine knows nothing of the app.',
      severity: 'error',
      from: { path: '^server/db/embedded/' },
      to: { path: '^server/', pathNot: '^server/db/embedded/' },
    },
    {
      name: 'app-uses-engine-only-to-start-it',
      comment: 'The app talks to the engine over the wire like to any MongoDB; only the connection module starts it.',
      severity: 'error',
      from: { path: '^server/', pathNot: ['^server/db/embedded/', '^server/db/connection\\.ts$'] },
      to: { path: '^server/db/embedded/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: ['^node_modules', '^dist/', '^generated/'] },
  },
};

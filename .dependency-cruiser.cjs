// The layer check (`npm run lint:layers`, part of `npm test`). Imports run one way:
//
//   api/server.ts (entry point) → api/ (routes → services) → workers/jobs/ (handlers)
//     → workers/ engines (backup/, recovery/) and adapters (dropbox/, storage/, outbound/) → db/
//
// with workers/queue.ts (the queue's port) usable from anywhere above db/. Each rule says why.
//
// Type-only imports (`import type`) are erased before Node runs the code, so they cannot make a
// module load another or create a load-order cycle. They are held to the same rules, with one
// exception: `AppDeps` (api/deps.ts), the dependency bag the entry point builds and passes down,
// may be named by any layer as a type. It carries no code, and moving it would touch every file.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment:
        'A cycle means two modules cannot be understood, tested or loaded one without the other, and ESM ' +
        'evaluation order inside it decides whether a binding is initialised yet. Cycles through type-only ' +
        'imports alone are harmless (erased at run time) and allowed.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'db-imports-nothing-above',
      severity: 'error',
      comment: 'db/ is the bottom layer (schema, client, ids): everything may use it, so it may use nothing of api/ or workers/, not even types.',
      from: { path: '^db/' },
      to: { path: '^(api|workers|test|scripts)/' },
    },
    {
      name: 'queue-port-imports-no-handler',
      severity: 'error',
      comment:
        'workers/queue.ts is the port that services, engines and handlers enqueue through. If it imported a ' +
        'handler, every module that enqueues would load every handler, and handlers import services: a circle.',
      from: { path: '^workers/queue\\.ts$' },
      to: { path: '^workers/jobs/' },
    },
    {
      name: 'registry-only-from-entry-point',
      severity: 'error',
      comment:
        'workers/jobs/ (the handlers and their registry, index.ts) sits above the services. Only the entry point ' +
        '(api/server.ts) starts it; tests and scripts may too. A service that imported a handler would close a circle.',
      from: { path: '^(api|db)/', pathNot: '^api/server\\.ts$' },
      to: { path: '^workers/jobs/' },
    },
    {
      name: 'engines-and-adapters-never-import-api',
      severity: 'error',
      comment:
        'Engines (workers/backup, workers/recovery) and adapters (workers/dropbox, workers/storage, workers/outbound) ' +
        'do the work and return outcomes; the job handlers (workers/jobs) call the services (notifications, ' +
        'billing, …) with them. Only the AppDeps type may be named (see the header).',
      from: { path: '^workers/', pathNot: '^workers/(jobs/|queue\\.ts$)' },
      to: { path: '^api/', pathNot: '^api/deps\\.ts$' },
    },
    {
      name: 'queue-port-imports-no-service-code',
      severity: 'error',
      comment:
        'The port may name payload types that services own (a mail message), as types only: importing their ' +
        'code would make every enqueuer load that service.',
      from: { path: '^workers/queue\\.ts$' },
      to: { path: '^api/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'api-deps-type-only',
      severity: 'error',
      comment: 'AppDeps may be named below the API only as a type: it carries no code, and importing api/deps.ts for code would pull the API in.',
      from: { path: '^(workers)/' },
      to: { path: '^api/deps\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'sdk-imports-nothing-of-the-server',
      severity: 'error',
      comment: '@coffer/sdk is published on its own and runs in browsers, Deno and Bun: it cannot carry server code.',
      from: { path: '^sdk/' },
      to: { path: '^(api|db|workers|scripts|test)/' },
    },
    {
      name: 'production-never-imports-tests-or-scripts',
      severity: 'error',
      comment: 'Test helpers and scripts are not shipped to run the service.',
      from: { path: '^(api|workers|db)/' },
      to: { path: '^(test|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|sdk/dist)/' },
    // Keep `import type` edges in the graph (dependency type "type-only") so the rules can see them.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
    // The package.json "imports" map (#api/*, …) resolves like relative imports.
    combinedDependencies: false,
  },
};

// bench/field/unleash/server.mjs: unleash-server (the npm package pinned in package.json) for
// bench/field/unleash_bench.sh, started through its documented start() API, configured from the
// environment so that no UI and no internet are needed:
//
//   UNLEASH_PORT             HTTP port (127.0.0.1 only)
//   UNLEASH_DB_HOST, UNLEASH_DB_PORT, UNLEASH_DB_USER, UNLEASH_DB_NAME   its PostgreSQL database
//                            (trust authentication, as deploy/up.sh's servers use)
//   UNLEASH_ADMIN_TOKEN      "*:*.<secret>": the admin API token translate_flags.mjs uses
//   UNLEASH_FRONTEND_TOKEN   "default:development.<secret>": the frontend API token wrk sends
//
// Both tokens are created at start-up (authentication.initApiTokens). The version check and the
// telemetry are off: there is no internet here, and a benchmark must not phone home.
import { start, LogLevel } from 'unleash-server';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`server.mjs: the environment variable ${name} is not set`);
    process.exit(2);
  }
  return value;
}

function port(name) {
  const value = Number(required(name));
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    console.error(`server.mjs: ${name} must be a TCP port, not '${process.env[name]}'`);
    process.exit(2);
  }
  return value;
}

function token(secret, type) {
  // "<project>:<environment>.<random>", the shape Unleash itself hands out.
  const [project, rest = ''] = secret.split(':');
  const environment = rest.split('.')[0];
  if (!project || !environment) {
    console.error(`server.mjs: a ${type} token must look like <project>:<environment>.<secret>, not '${secret}'`);
    process.exit(2);
  }
  return { secret, type, projects: [project], environment, tokenName: `flag_eval bench ${type}` };
}

process.env.SEND_TELEMETRY = 'false'; // create-config reads it: options.telemetry=false alone is ignored

const unleash = await start({
  db: {
    host: required('UNLEASH_DB_HOST'),
    port: port('UNLEASH_DB_PORT'),
    user: required('UNLEASH_DB_USER'),
    password: '',
    database: required('UNLEASH_DB_NAME'),
    ssl: false,
  },
  server: { host: '127.0.0.1', port: port('UNLEASH_PORT'), enableRequestLogger: false },
  authentication: {
    createAdminUser: false,
    initApiTokens: [
      token(required('UNLEASH_ADMIN_TOKEN'), 'admin'),
      token(required('UNLEASH_FRONTEND_TOKEN'), 'frontend'),
    ],
  },
  // Unleash limits SDK calls and token authentications to 20,000 a minute per process by default
  // and answers 429 beyond: a load test measures evaluation, not that limiter, so lift it.
  rateLimiting: { sdkApiMaxPerMinute: 1_000_000_000, tokenAuthenticationMaxPerMinute: 1_000_000_000 },
  versionCheck: { enable: false },
  telemetry: false,
  logLevel: LogLevel.warn,
});

// The bench script stops this process with SIGTERM; Unleash's own handler closes the pool.
console.log(`unleash-server ${unleash.config?.server?.port ?? ''} ready, pid ${process.pid}`);

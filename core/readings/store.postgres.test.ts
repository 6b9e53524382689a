import { POSTGRES_URL, serviceAvailable } from '../testing/services.ts';
import { storeContract } from './store.contract.ts';
import { tempPostgres } from './testing/fixtures.ts';

// A fresh database per test, dropped afterwards; skipped (with the reason) only outside CI.
storeContract('PostgreSQL', async () => ((await serviceAvailable('postgres')) ? tempPostgres(POSTGRES_URL) : null));

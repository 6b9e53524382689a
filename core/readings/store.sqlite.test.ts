import { storeContract } from './store.contract.ts';
import { tempSqlite } from './testing/fixtures.ts';

storeContract('SQLite', async () => tempSqlite());

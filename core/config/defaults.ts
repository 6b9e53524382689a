/**
 * Defaults that more than one program or command share. The data directory default lives here and nowhere
 * else: the server, the station, every CLI command with --data and the SQLite path derive from it.
 */
import { join } from 'node:path';

export const DEFAULT_DATA_DIR = './data';
export const DEFAULT_STATION_DATA_DIR = join(DEFAULT_DATA_DIR, 'station');
export const DEFAULT_SQLITE_FILE = 'meterhub.db';
export const DEFAULT_SERVER_PORT = 8080;
export const DEFAULT_STATION_PORT = 8790;
export const DEFAULT_HOST = '127.0.0.1';

/**
 * The data directory holds the ledger, its key and the audit trail: only the service account may read it.
 * Directories are created 0700 and files 0600 whatever the umask (a plain `serve` under umask 022 used to leave
 * meterhub.db, -wal and -shm world-readable). SQLite creates its -wal and -shm files with the mode of the
 * database file, so a database file created 0600 keeps them 0600 too; they are tightened again at open in case
 * an older version made them. On Windows POSIX modes do not apply: the service account's ACL protects the
 * folder (docs/deploy/central-server.md).
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';

const windows = process.platform === 'win32';

/** mkdir -p with 0700 on what it creates, and 0700 on the directory itself (the server owns it). */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!windows) chmodSync(dir, 0o700);
}

/** Sets 0600 on each of these files that exists. */
export function tightenFiles(files: string[]): void {
  if (windows) return;
  for (const f of files) {
    try {
      if (existsSync(f)) chmodSync(f, 0o600);
    } catch {
      // A file that vanished between the check and the chmod (a checkpointed -wal) needs no mode.
    }
  }
}

/** Creates the file 0600 if it is missing (without truncating it), then makes sure it is 0600. */
export function ensurePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  tightenFiles([file]);
}

/** A SQLite database and its journal files: created 0600, so SQLite gives -wal and -shm the same mode. */
export function ensurePrivateSqlite(file: string): void {
  ensurePrivateFile(file);
  tightenFiles([`${file}-wal`, `${file}-shm`, `${file}-journal`]);
}

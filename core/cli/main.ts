import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';

/** A CLI command module: every file in ./commands exports one `register`, for the command of its own name. */
export interface CommandModule {
  register(program: Command): void;
}

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');

function commandFiles(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort();
}

/**
 * The command a run names: the first argument that is not an option. Options before the command are global
 * ones (`--help`, `--version`), which take no value, so the first bare word is the command.
 */
export function commandNamed(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith('-'));
}

/** The program with no command yet (serve-main.ts adds `serve` alone to it). */
export function programShell(): Command {
  return new Command('meterhub')
    .description('MeterHub 燃气表具统一接入平台 — gas-meter card and remote-read platform')
    .showHelpAfterError();
}

/**
 * Builds the program with the named command only, or with every command when none is named (help, an unknown
 * word, which commander then reports). Loading one command's module instead of all of them keeps `serve` free
 * of chaos, bench and simulator code and starts a command in a fraction of the time.
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = programShell();
  // Each command lives in its own module named after it, so adding one never touches this file.
  const files = commandFiles();
  const chosen = only !== undefined && files.includes(`${only}.ts`) ? [`${only}.ts`] : files;
  for (const file of chosen) {
    const mod = (await import(pathToFileURL(join(commandsDir, file)).href)) as CommandModule;
    mod.register(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(commandNamed(argv));
  await program.parseAsync(argv);
}

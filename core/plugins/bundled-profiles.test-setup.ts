/**
 * Vitest setup: tests may name the bundled plugins' dialects (chint, …) without building a registry, as a program's
 * registry has them once its plugin host starts. Programs never read this lookup's plugin entries: each builds its
 * own ProfileRegistry (core/telemetry/profiles.ts says why the by-name lookup exists).
 */
import { seedProfilesForTests } from '../telemetry/profiles.ts';
import { bundledPluginProfiles } from './plugin-profiles.ts';

seedProfilesForTests(bundledPluginProfiles());

/**
 * Vitest setup: the bundled plugins' dialects (chint, …) in the process registry, as `meterhub serve` has them
 * once its plugin host starts. Tests that build a gateway or simulator by profile name need no host for that.
 */
import { useBundledPluginProfiles } from './plugin-profiles.ts';

useBundledPluginProfiles();

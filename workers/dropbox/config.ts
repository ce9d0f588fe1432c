// What the Dropbox adapter needs to know about the installation. It lives beside the adapter (not in
// api/config.ts, which reads it from the environment) so the adapter depends on nothing above it.
export interface DropboxConfig {
  /** Unset: tasks cannot be connected (creating one answers dropbox_not_configured). */
  appKey: string | undefined;
  appSecret: string | undefined;
  /** Sends every Dropbox call (OAuth included) to this origin instead, e.g. the emulator. */
  apiUrl: string | undefined;
  /** Ceiling on calls per second per Dropbox member (or team) from one process; 0 = none (workers/dropbox/pacer.ts). */
  maxCallsPerSecond?: number;
}

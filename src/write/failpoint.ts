/**
 * Crash points for testing recovery: `DDBKIT_FAILPOINT=after-prepare` makes the coordinator
 * process exit at once (code 86) when every participant has prepared and no decision is logged;
 * `after-decision` when the commit decision is logged but not yet sent to the sites.
 */
export type Failpoint = 'after-prepare' | 'after-decision';

export const FAILPOINT_EXIT_CODE = 86;

export function failpoint(name: Failpoint): void {
  if (process.env['DDBKIT_FAILPOINT'] !== name) return;
  process.stderr.write(`ddbkit: failpoint ${name}: exiting with code ${FAILPOINT_EXIT_CODE}\n`);
  process.exit(FAILPOINT_EXIT_CODE);
}

/** ddbkit's exit codes; the README documents them. */
export const ExitCode = {
  /** Success (a design may still carry warnings). */
  ok: 0,
  /** The check failed: the design is invalid, or a verification found a difference. */
  failed: 1,
  /** The input cannot be used: bad command line, malformed design, unknown names, unreadable source. */
  unusable: 2,
  /** A site failed: unreachable, refused credentials, a statement or a load failed there. */
  site: 3,
  /** A bug in ddbkit: the message and stack trace are printed; please report it. */
  internal: 70,
} as const;

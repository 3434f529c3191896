/** The first element of every rate-limit script reply, mapped here and nowhere else. */
export const ScriptStatus = {
  /** Every policy allowed the check and all were charged (or: the refund was applied). */
  OK: 0,
  /** At least one policy refused; nothing was charged. */
  LIMITED: 1,
  /** The arguments did not match the script's contract (a bug, or a version skew). */
  BAD_ARGUMENTS: 2,
  /**
   * A policy's key holds a value the script did not write (another client's data under Keel's
   * prefix); nothing was charged. The reply's second element is that policy's index, from 1.
   */
  FOREIGN_DATA: 3,
} as const;

export type ScriptStatus = (typeof ScriptStatus)[keyof typeof ScriptStatus];

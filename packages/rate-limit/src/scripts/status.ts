/** The first element of every rate-limit script reply, mapped here and nowhere else. */
export const ScriptStatus = {
  /** Every policy allowed the check and all were charged (or: the refund was applied). */
  OK: 0,
  /** At least one policy refused; nothing was charged. */
  LIMITED: 1,
  /** The arguments did not match the script's contract (a bug, or a version skew). */
  BAD_ARGUMENTS: 2,
} as const;

export type ScriptStatus = (typeof ScriptStatus)[keyof typeof ScriptStatus];

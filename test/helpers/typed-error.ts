/** What "a typed error" means in bad-input tests: one of the project's own error classes, never a bare built-in. */

const BUILT_IN: readonly Function[] = [Error, TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError, AggregateError];

/** Why `err` is not a typed error with a usable one-line message, or undefined when it is. */
export function untypedProblem(err: unknown): string | undefined {
  if (!(err instanceof Error)) return `threw a non-Error: ${String(err)}`;
  if (BUILT_IN.includes(err.constructor)) return `threw a bare ${err.constructor.name}: ${err.stack}`;
  if (err.message.trim() === '') return `threw ${err.name} without a message`;
  return undefined;
}

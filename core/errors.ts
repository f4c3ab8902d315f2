// Errors from below our code, read for what a person can act on.

/**
 * The innermost cause of a failed call, its code and message. undici's fetch throws
 * TypeError("fetch failed") with the socket's error (ECONNREFUSED, its address) as the cause, and
 * our own errors may wrap that again; the useful part is at the bottom.
 */
export function innermostCause(error: unknown): { code: string | undefined; message: string } {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  const code = (current as { code?: unknown } | null | undefined)?.code;
  return { code: typeof code === "string" ? code : undefined, message: current instanceof Error ? current.message : String(current) };
}

/** The commands of a Markdown document's shell code blocks, as a reader would type them in one shell. */

export interface ShellStep {
  /** One command of a line (lines joined by `&&` are several steps), without its comment. */
  readonly command: string;
  /** The variable assignments (`D=../shared/testdata`) shown before it, in order. */
  readonly assignments: readonly string[];
}

const SHELL_BLOCK = /^```(?:sh|bash|shell)[ \t]*\n([\s\S]*?)^```/gm;
const ASSIGNMENT = /^[A-Za-z_]\w*=\S*$/;

export function shellSteps(markdown: string): ShellStep[] {
  const steps: ShellStep[] = [];
  const assignments: string[] = [];
  for (const [, body] of markdown.matchAll(SHELL_BLOCK)) {
    for (const raw of body!.replace(/\\\n\s*/g, '').split('\n')) {
      // As bash reads it: a # after whitespace (or at the start) begins a comment.
      const line = raw.replace(/(^|\s)#.*$/, '').trim();
      if (line === '') continue;
      if (ASSIGNMENT.test(line)) assignments.push(line);
      else for (const command of line.split('&&')) steps.push({ command: command.trim(), assignments: [...assignments] });
    }
  }
  return steps;
}

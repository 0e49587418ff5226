/**
 * Calls back when the config file changes. The folder is watched, not the file: editors and config
 * management replace files by renaming a new one over them, which a watch on the old file misses.
 * Bursts of events (write, then rename, then chmod) are merged into one call.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

export function watchConfigFile(file: string, onChange: () => void, debounceMs = 300): { close(): void } {
  const name = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(path.dirname(file), (_event, changed) => {
    if (changed !== null && changed.toString() !== name) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  // A watch error (the folder removed) must not crash the daemon; SIGHUP still reloads.
  watcher.on('error', () => watcher.close());
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}

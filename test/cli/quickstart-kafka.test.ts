import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sluice } from '../support/sluice-cli.js';

/** A count as the summary prints it (`3,000`) back to a number. */
function counted(pattern: RegExp, text: string): number {
  const match = pattern.exec(text);
  assert.ok(match, `${pattern} not in:\n${text}`);
  return Number(match[1]!.replace(/,/g, ''));
}

describe('sluice quickstart --mode kafka', () => {
  test('produces orders into a mock Kafka cluster, consumes them into Postgres, and stops by itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-quickstart-kafka-'));
    const ran = await sluice(['quickstart', '--mode', 'kafka', '--records', '3000'], { cwd: dir });
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /produced 3,000 orders into Kafka topic "orders"/);
    assert.equal(
      counted(/orders\s+source\s+([\d,]+)/, ran.stdout),
      3000,
      'the pipeline read everything produced',
    );
    const written = counted(/warehouse\s+sink\s+\d+\s+([\d,]+)/, ran.stdout);
    // Every id is new in 3000 orders (ids repeat only after 50000), so every written record is its own row.
    assert.equal(counted(/public\.orders holds (\d+) orders/, ran.stdout), written);
    const dead = (await readFile(join(dir, '.sluice', 'quickstart-kafka', 'dlq.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { rule: string; source_position: string });
    assert.ok(dead.length > 0, 'the generated defects were dead-lettered');
    assert.equal(written + dead.length, 3000);
    assert.match(ran.stdout, new RegExp(`dead-lettered ${dead.length}`));
    for (const letter of dead) {
      assert.match(
        letter.source_position,
        /^orders\/\d@\d+$/,
        'each rejected record names its Kafka message',
      );
      assert.ok(['email_present', 'email_shape', 'amount_not_negative'].includes(letter.rule), letter.rule);
    }
  });
});

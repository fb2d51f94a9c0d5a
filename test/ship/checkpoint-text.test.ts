import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EntryTexts } from '../../src/ship/checkpoint-text.js';

describe('EntryTexts', () => {
  it('joins every entry in the order first set, with the latest text of each, across blocks', () => {
    const texts = new EntryTexts(',\n');
    assert.equal(texts.parts().join(''), '');
    const expected: string[] = [];
    for (let i = 0; i < 300; i++) {
      texts.set(`f${i}`, `v${i}`);
      expected.push(`v${i}`);
    }
    assert.equal(texts.parts().join(''), expected.join(',\n'));
    // Changes in several blocks, one at a block's edge, after their blocks were joined.
    for (const i of [0, 63, 64, 150, 299]) {
      texts.set(`f${i}`, `changed${i}`);
      expected[i] = `changed${i}`;
    }
    texts.set('f300', 'new');
    expected.push('new');
    assert.equal(texts.size, 301);
    assert.equal(texts.parts().join(''), expected.join(',\n'));
  });
});

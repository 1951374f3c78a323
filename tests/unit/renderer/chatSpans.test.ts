import { describe, expect, it } from 'vitest'
import { chatSegments } from '../../../src/renderer/src/lib/chatSpans'

describe('chatSegments: the Data step marks the taught text of a rendered conversation', () => {
  const text = '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n'
  const start = text.indexOf('Hello!')
  const end = text.lastIndexOf('<|im_end|>') + '<|im_end|>'.length

  it('cuts the text at each span, the pieces joining back to the whole', () => {
    const segments = chatSegments(text, [[start, end]])
    expect(segments).toEqual([
      { text: text.slice(0, start), taught: false },
      { text: 'Hello!<|im_end|>', taught: true },
      { text: '\n', taught: false }
    ])
    expect(segments.map((s) => s.text).join('')).toBe(text)
  })

  it('clips spans out of order, overlapping or past the end, and keeps every character once', () => {
    const segments = chatSegments('abcdefghij', [[6, 40], [1, 3], [2, 5], [-4, 0]])
    expect(segments).toEqual([
      { text: 'a', taught: false },
      { text: 'bc', taught: true },
      { text: 'de', taught: true },
      { text: 'f', taught: false },
      { text: 'ghij', taught: true }
    ])
    expect(chatSegments('abc', [])).toEqual([{ text: 'abc', taught: false }])
  })
})

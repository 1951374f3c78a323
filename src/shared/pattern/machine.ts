import { Op, type CompiledPattern, type Program } from './program'

/**
 * Runs a compiled pattern over a text without backtracking. The main program is simulated breadth-first
 * (Pike's machine: every live thread advances one code point at a time, a program counter is kept once per
 * position, threads keep their priority order), so a search costs at most program size × text length steps.
 * Each lookaround is answered for every position of the text in one pass of its own program before the search
 * (a lookbehind's body run forwards, a lookahead's reversed body run from the end), so a lookaround costs a
 * table read. Every step is counted against a budget the caller sets; running out throws StepLimitExceeded.
 */

export class StepLimitExceeded extends Error {
  override name = 'StepLimitExceeded'
}

export interface MatchContext {
  readonly text: string
  /** Lookaround answers per position, filled before the first search over this text. */
  readonly tables: Uint8Array[]
  steps: number
  readonly maxSteps: number
}

class ThreadList {
  readonly pcs: Int32Array
  readonly caps: (Int32Array | null)[]
  size = 0
  constructor(capacity: number) {
    this.pcs = new Int32Array(capacity)
    this.caps = new Array<Int32Array | null>(capacity).fill(null)
  }
}

interface ProgramState {
  program: Program
  marks: Uint32Array
  current: ThreadList
  next: ThreadList
}

function isLineTerminator(unit: number): boolean {
  return unit === 0x0a || unit === 0x0d || unit === 0x2028 || unit === 0x2029
}

function codeAt(text: string, pos: number): number {
  return text.codePointAt(pos)!
}

/** The code point that ends at `pos`, or -1 at the start. */
function codeBefore(text: string, pos: number): number {
  if (pos <= 0) return -1
  const unit = text.charCodeAt(pos - 1)
  if (unit >= 0xdc00 && unit <= 0xdfff && pos >= 2) {
    const lead = text.charCodeAt(pos - 2)
    if (lead >= 0xd800 && lead <= 0xdbff) return (lead - 0xd800) * 0x400 + (unit - 0xdc00) + 0x10000
  }
  return unit
}

export class Machine {
  private readonly main: ProgramState
  private readonly looks: ProgramState[]
  private generation = 0
  private readonly stackPcs: number[] = []
  private readonly stackCaps: (Int32Array | null)[] = []
  private readonly unset: Int32Array

  constructor(
    private readonly compiled: CompiledPattern,
    private readonly multiline: boolean
  ) {
    const state = (program: Program): ProgramState => ({
      program,
      marks: new Uint32Array(program.code.length),
      current: new ThreadList(program.code.length),
      next: new ThreadList(program.code.length)
    })
    this.main = state(compiled.main)
    this.looks = compiled.looks.map((look) => state(look.program))
    this.unset = new Int32Array(compiled.slots).fill(-1)
  }

  /** Capturing groups of the pattern. */
  get groups(): number {
    return this.compiled.groups
  }

  /** A context for searches over `text`: the lookaround tables are worked out here, once. */
  context(text: string, maxSteps: number): MatchContext {
    const context: MatchContext = { text, tables: [], steps: 0, maxSteps }
    this.looks.forEach((state, index) => context.tables.push(this.table(state, this.compiled.looks[index]!.ahead, context)))
    return context
  }

  /** The highest-priority match that starts leftmost at or after `from`: slots (start, end, then each group's), or null. */
  search(context: MatchContext, from: number): Int32Array | null {
    const { text } = context
    const n = text.length
    const state = this.main
    let matched: Int32Array | null = null
    let pos = from
    state.current.size = 0
    let generation = this.nextGeneration()
    for (;;) {
      if (!matched) this.closure(state, state.current, 0, this.unset, pos, generation, context)
      if (state.current.size === 0 && (matched || pos >= n)) break
      const code = pos < n ? codeAt(text, pos) : -1
      const width = code > 0xffff ? 2 : 1
      generation = this.nextGeneration()
      const { current, next } = state
      next.size = 0
      for (let i = 0; i < current.size; i++) {
        this.count(context)
        const pc = current.pcs[i]!
        const instruction = state.program.code[pc]!
        if (instruction.op === Op.Match) {
          matched = current.caps[i]!
          break // threads after this one have lower priority
        }
        if (instruction.op === Op.Char && code >= 0 && instruction.test.test(code)) this.closure(state, next, pc + 1, current.caps[i]!, pos + width, generation, context)
      }
      state.current = next
      state.next = current
      if (pos >= n) break
      pos += width
    }
    return matched
  }

  private table(state: ProgramState, ahead: boolean, context: MatchContext): Uint8Array {
    const { text } = context
    const n = text.length
    const answers = new Uint8Array(n + 1)
    state.current.size = 0
    let generation = this.nextGeneration()
    // A lookahead's body is compiled reversed and read from the end: it reaches Match where a match starts.
    for (let pos = ahead ? n : 0; ; ) {
      this.closure(state, state.current, 0, null, pos, generation, context)
      const { current, next } = state
      for (let i = 0; i < current.size; i++) if (state.program.code[current.pcs[i]!]!.op === Op.Match) answers[pos] = 1
      if (ahead ? pos <= 0 : pos >= n) break
      const code = ahead ? codeBefore(text, pos) : codeAt(text, pos)
      const width = code > 0xffff ? 2 : 1
      const to = ahead ? pos - width : pos + width
      generation = this.nextGeneration()
      next.size = 0
      for (let i = 0; i < current.size; i++) {
        this.count(context)
        const instruction = state.program.code[current.pcs[i]!]!
        if (instruction.op === Op.Char && instruction.test.test(code)) this.closure(state, next, current.pcs[i]! + 1, null, to, generation, context)
      }
      state.current = next
      state.next = current
      pos = to
    }
    return answers
  }

  /** Follow the instructions that consume nothing from `pc`, in priority order, adding the threads that wait for a character. */
  private closure(state: ProgramState, list: ThreadList, pc: number, caps: Int32Array | null, pos: number, generation: number, context: MatchContext): void {
    const { code } = state.program
    const { marks } = state
    const pcs = this.stackPcs
    const capsStack = this.stackCaps
    const base = pcs.length
    pcs.push(pc)
    capsStack.push(caps)
    while (pcs.length > base) {
      const at = pcs.pop()!
      let threadCaps = capsStack.pop()!
      if (marks[at] === generation) continue
      marks[at] = generation
      this.count(context)
      const instruction = code[at]!
      switch (instruction.op) {
        case Op.Jump:
          pcs.push(instruction.to)
          capsStack.push(threadCaps)
          break
        case Op.Split:
          pcs.push(instruction.second, instruction.first)
          capsStack.push(threadCaps, threadCaps)
          break
        case Op.Save:
          if (threadCaps) {
            threadCaps = threadCaps.slice()
            threadCaps[instruction.slot] = pos
          }
          pcs.push(at + 1)
          capsStack.push(threadCaps)
          break
        case Op.Reset:
          if (threadCaps) {
            threadCaps = threadCaps.slice()
            threadCaps.fill(-1, instruction.from, instruction.to + 1)
          }
          pcs.push(at + 1)
          capsStack.push(threadCaps)
          break
        case Op.Assert:
          if (this.holds(instruction.test, context.text, pos)) {
            pcs.push(at + 1)
            capsStack.push(threadCaps)
          }
          break
        case Op.NotEmpty:
          if (!threadCaps || threadCaps[instruction.slot] !== pos) {
            pcs.push(at + 1)
            capsStack.push(threadCaps)
          }
          break
        case Op.Look:
          if ((context.tables[instruction.look]![pos] === 1) !== instruction.negate) {
            pcs.push(at + 1)
            capsStack.push(threadCaps)
          }
          break
        default:
          list.pcs[list.size] = at
          list.caps[list.size] = threadCaps
          list.size++
      }
    }
  }

  private holds(test: 'start' | 'end' | 'word' | 'notWord', text: string, pos: number): boolean {
    switch (test) {
      case 'start':
        return pos === 0 || (this.multiline && isLineTerminator(text.charCodeAt(pos - 1)))
      case 'end':
        return pos === text.length || (this.multiline && isLineTerminator(text.charCodeAt(pos)))
      default: {
        const before = pos > 0 && this.compiled.word.test(codeBefore(text, pos))
        const after = pos < text.length && this.compiled.word.test(codeAt(text, pos))
        return (before !== after) === (test === 'word')
      }
    }
  }

  private count(context: MatchContext): void {
    if (++context.steps > context.maxSteps) throw new StepLimitExceeded(`more than ${context.maxSteps} steps`)
  }

  private nextGeneration(): number {
    if (this.generation >= 0xfffffff0) {
      this.generation = 0
      this.main.marks.fill(0)
      for (const look of this.looks) look.marks.fill(0)
    }
    return ++this.generation
  }
}

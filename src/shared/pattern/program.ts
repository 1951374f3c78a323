import { UnsupportedPattern, type PatternNode } from './syntax'

/**
 * A parsed pattern as a program for a Thompson-style machine (the one RE2 runs): SPLIT lists its branches in
 * priority order, so the machine that follows them breadth-first still finds the match a backtracking engine
 * finds first, in time linear in the text. Lookarounds become sub-programs whose answer for every position of
 * a text is worked out once (see machine.ts), so the main program only asks a table.
 */

export const Op = { Char: 0, Split: 1, Jump: 2, Save: 3, Reset: 4, Assert: 5, Look: 6, Match: 7, NotEmpty: 8 } as const
type Ops = typeof Op
type SplitInstruction = Extract<Instruction, { op: Ops['Split'] }>
type JumpInstruction = Extract<Instruction, { op: Ops['Jump'] }>

export type Instruction =
  | { op: Ops['Char']; test: CharTest }
  | { op: Ops['Split']; first: number; second: number }
  | { op: Ops['Jump']; to: number }
  | { op: Ops['Save']; slot: number }
  | { op: Ops['Reset']; from: number; to: number }
  | { op: Ops['Assert']; test: 'start' | 'end' | 'word' | 'notWord' }
  | { op: Ops['Look']; look: number; negate: boolean }
  | { op: Ops['Match'] }
  /** JavaScript drops an optional iteration that matched nothing (its captures with it): the slot holds where it began. */
  | { op: Ops['NotEmpty']; slot: number }

/** One-character membership, answered by the JS engine for one code point at a time (cached). */
export class CharTest {
  private readonly regex: RegExp | undefined
  private readonly ascii = new Int8Array(128).fill(-1)
  private readonly other = new Map<number, boolean>()

  constructor(
    atom: string,
    flags: string,
    /** A literal code point compared directly when case does not matter. */
    private readonly literal?: number
  ) {
    if (literal === undefined || flags.includes('i')) this.regex = new RegExp(`^(?:${atom})$`, flags)
  }

  test(code: number): boolean {
    if (!this.regex) return code === this.literal
    if (code < 128) {
      const known = this.ascii[code]!
      if (known >= 0) return known === 1
      const answer = this.regex.test(String.fromCharCode(code))
      this.ascii[code] = answer ? 1 : 0
      return answer
    }
    let answer = this.other.get(code)
    if (answer === undefined) {
      answer = this.regex.test(String.fromCodePoint(code))
      if (this.other.size < 65536) this.other.set(code, answer)
    }
    return answer
  }
}

export interface Program {
  code: Instruction[]
  /** Consumes text right to left (a lookahead's table is filled from the end of the text). */
  reverse: boolean
}

export interface Lookaround {
  program: Program
  /** Lookahead: the table says where the body matches starting; lookbehind: where it matches ending. */
  ahead: boolean
}

export interface CompiledPattern {
  main: Program
  /** Inner lookarounds come before the ones that contain them. */
  looks: Lookaround[]
  /** 2 × (groups + 1): start and end of the whole match, then of each group; then one per optional iteration's start. */
  slots: number
  groups: number
  /** For \b and \B. */
  word: CharTest
}

/** Whether a node can match the empty string. */
function nullable(node: PatternNode): boolean {
  switch (node.kind) {
    case 'char':
      return false
    case 'seq':
      return node.items.every(nullable)
    case 'alt':
      return node.options.some(nullable)
    case 'group':
      return nullable(node.body)
    case 'repeat':
      return node.min === 0 || nullable(node.body)
    default:
      return true
  }
}

export function compileProgram(root: PatternNode, groups: number, flags: string, maxInstructions: number): CompiledPattern {
  const looks: Lookaround[] = []
  const tests = new Map<string, CharTest>()
  let size = 0
  let hiddenSlots = 0

  function charTest(atom: string, literal?: number): CharTest {
    let test = tests.get(atom)
    if (!test) tests.set(atom, (test = new CharTest(atom, flags, literal)))
    return test
  }

  function build(node: PatternNode, reverse: boolean, captures: boolean): Program {
    const code: Instruction[] = []
    const emit = (instruction: Instruction): number => {
      if (++size > maxInstructions) throw new UnsupportedPattern(`is too large once its repetitions are written out (over ${maxInstructions} steps)`)
      code.push(instruction)
      return code.length - 1
    }
    // Jumps to a place not written yet get their target patched in.
    const split = (): SplitInstruction => code[emit({ op: Op.Split, first: -1, second: -1 })] as SplitInstruction

    function walk(n: PatternNode): void {
      switch (n.kind) {
        case 'empty':
          return
        case 'char':
          emit({ op: Op.Char, test: charTest(n.atom, n.literal) })
          return
        case 'seq':
          for (const item of reverse ? [...n.items].reverse() : n.items) walk(item)
          return
        case 'alt': {
          const exits: JumpInstruction[] = []
          n.options.forEach((option, i) => {
            if (i === n.options.length - 1) return walk(option)
            const choice = split()
            choice.first = code.length
            walk(option)
            exits.push(code[emit({ op: Op.Jump, to: -1 })] as JumpInstruction)
            choice.second = code.length
          })
          for (const exit of exits) exit.to = code.length
          return
        }
        case 'group':
          if (captures && n.index !== undefined) emit({ op: Op.Save, slot: 2 * n.index })
          walk(n.body)
          if (captures && n.index !== undefined) emit({ op: Op.Save, slot: 2 * n.index + 1 })
          return
        case 'assert':
          emit({ op: Op.Assert, test: n.test })
          return
        case 'look': {
          const program = build(n.body, n.ahead, false)
          looks.push({ program, ahead: n.ahead })
          emit({ op: Op.Look, look: looks.length - 1, negate: n.negate })
          return
        }
        case 'repeat':
          return repeat(n)
      }
    }

    function iteration(n: Extract<PatternNode, { kind: 'repeat' }>, optional: boolean): void {
      // JavaScript forgets a repeated group's captures at each new iteration, and refuses an optional
      // iteration that matched nothing (a lazy body then tries its longer choices). A thread dropped for
      // sharing a program counter with a higher-priority one could only have gone where that one's loop
      // already went at this position, so the breadth-first search stays exact with this check.
      const groupsInside = captures && n.lastGroup >= n.firstGroup
      const slot = captures && optional && nullable(n.body) ? 2 * (groups + 1) + hiddenSlots++ : -1
      if (slot >= 0) emit({ op: Op.Save, slot })
      if (groupsInside) emit({ op: Op.Reset, from: 2 * n.firstGroup, to: 2 * n.lastGroup + 1 })
      walk(n.body)
      if (slot >= 0) emit({ op: Op.NotEmpty, slot })
    }

    function repeat(n: Extract<PatternNode, { kind: 'repeat' }>): void {
      if (n.min > maxInstructions || (n.max !== Infinity && n.max > maxInstructions)) {
        throw new UnsupportedPattern(`is too large once its repetitions are written out (a count over ${maxInstructions})`)
      }
      for (let i = 0; i < n.min; i++) iteration(n, false)
      if (n.max === Infinity) {
        const loop = split()
        const head = code.length - 1
        const body = code.length
        iteration(n, true)
        emit({ op: Op.Jump, to: head })
        ;[loop.first, loop.second] = n.greedy ? [body, code.length] : [code.length, body]
        return
      }
      const optional: SplitInstruction[] = []
      for (let i = n.min; i < n.max; i++) {
        const choice = split()
        const body = code.length
        optional.push(choice)
        iteration(n, true)
        choice.first = body
      }
      for (const choice of optional) {
        choice.second = code.length
        if (!n.greedy) [choice.first, choice.second] = [choice.second, choice.first]
      }
    }

    if (captures) emit({ op: Op.Save, slot: 0 })
    walk(node)
    if (captures) emit({ op: Op.Save, slot: 1 })
    emit({ op: Op.Match })
    return { code, reverse }
  }

  const main = build(root, false, true)
  return { main, looks, slots: 2 * (groups + 1) + hiddenSlots, groups, word: charTest('\\w') }
}

import { describe, expect, it } from 'vitest'
import { epochOrder, seededRandom, stratifiedSplit } from '../../../src/main/engine/data'

const labels = [...Array(60).fill('pos'), ...Array(30).fill('neg'), ...Array(9).fill('neutral'), 'rare'] as string[]

describe('seeded split and shuffling', () => {
  it('the generator is uniform enough: each decile holds 10% ± 1% of 100k draws', () => {
    const random = seededRandom(7)
    const counts = new Array<number>(10).fill(0)
    for (let i = 0; i < 100_000; i++) counts[Math.floor(random() * 10)]!++
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(1_000)
  })

  it('stratified: every class with ≥ 2 examples on both sides, in proportion; partitions the data', () => {
    const { train, validation } = stratifiedSplit(labels, 0.2, 42)
    expect([...train, ...validation].sort((a, b) => a - b)).toEqual(labels.map((_, i) => i))
    expect(new Set(train).size + new Set(validation).size).toBe(labels.length)
    const count = (set: number[], label: string): number => set.filter((i) => labels[i] === label).length
    expect(count(validation, 'pos')).toBe(12)
    expect(count(validation, 'neg')).toBe(6)
    expect(count(validation, 'neutral')).toBe(2)
    expect(count(validation, 'rare')).toBe(0) // a single example stays in training (validation reports it)
    expect(count(train, 'rare')).toBe(1)
  })

  it('same seed, same split; another seed, another split', () => {
    expect(stratifiedSplit(labels, 0.2, 42)).toEqual(stratifiedSplit(labels, 0.2, 42))
    expect(stratifiedSplit(labels, 0.2, 43).validation).not.toEqual(stratifiedSplit(labels, 0.2, 42).validation)
  })

  it('regression targets (no classes) get a plain seeded split', () => {
    const { train, validation } = stratifiedSplit(new Array(50).fill(undefined), 0.1, 1)
    expect(validation).toHaveLength(5)
    expect(train).toHaveLength(45)
  })

  it('epoch order: a permutation, reproducible, different per epoch', () => {
    const a = epochOrder(1000, 5, 0)
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    expect(epochOrder(1000, 5, 0)).toEqual(a)
    expect(epochOrder(1000, 5, 1)).not.toEqual(a)
  })

  it('refuses a fraction outside (0, 1)', () => {
    expect(() => stratifiedSplit(labels, 0, 1)).toThrow(RangeError)
    expect(() => stratifiedSplit(labels, 1, 1)).toThrow(RangeError)
  })
})

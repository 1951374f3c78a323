/**
 * Module names without the dotted prefix they all share, for small labels: with every name under
 * `bert.encoder.layer.`, "bert.encoder.layer.3.attention.self.query" reads "3.attention.self.query". A
 * name keeps at least its last part, so a single layer still has a label.
 */
export function shortLayerNames(names: readonly string[]): Map<string, string> {
  const split = names.map((n) => n.split('.'))
  let shared = 0
  if (split.length > 0) {
    const shortest = Math.min(...split.map((parts) => parts.length))
    while (shared < shortest - 1 && split.every((parts) => parts[shared] === split[0]![shared])) shared++
  }
  return new Map(names.map((name, i) => [name, split[i]!.slice(shared).join('.')]))
}

import type { LayerSpectrum } from '@shared/spectra'

/**
 * The module a spectrum belongs to. analyseLayers names spectra after tensors (`….query.weight`, and
 * `….c_attn.weight.q` for one block of GPT-2's fused attention), while targets are module names
 * (`….query`, `….c_attn.q`).
 */
export function moduleNameOfTensor(tensorName: string): string {
  const fused = /^(.*)\.weight\.([qkv])$/.exec(tensorName)
  if (fused) return `${fused[1]}.${fused[2]}`
  return tensorName.endsWith('.weight') ? tensorName.slice(0, -'.weight'.length) : tensorName
}

/**
 * Candidate module names for a target, most specific first. Target names always carry the model's
 * prefix (`bert.`, `transformer.`), while tensor names follow the checkpoint: a bare BertModel stores
 * `encoder.layer.0…`. Leading segments are dropped only while a block number remains, so a candidate
 * never loses the part that tells blocks apart.
 */
export function moduleNameCandidates(targetName: string): string[] {
  const candidates = [targetName]
  let rest = targetName
  for (let dot = rest.indexOf('.'); dot >= 0; dot = rest.indexOf('.')) {
    rest = rest.slice(dot + 1)
    if (!/(^|\.)\d+\./.test(rest)) break
    candidates.push(rest)
  }
  return candidates
}

/** Whether a spectrum (by tensor name) is the one of a target (by module name). */
export function spectrumMatchesTarget(tensorName: string, targetName: string): boolean {
  return moduleNameCandidates(targetName).includes(moduleNameOfTensor(tensorName))
}

/**
 * Each target's spectrum, where one was analysed: target name → spectrum. A target that names its matrix
 * (the back end says which analysed matrix it is) is matched by that; others by module name.
 */
export function spectraByTarget(targets: readonly { name: string; matrix?: string }[], spectra: Iterable<LayerSpectrum>): Map<string, LayerSpectrum> {
  const byModule = new Map<string, LayerSpectrum>()
  const byMatrix = new Map<string, LayerSpectrum>()
  for (const spectrum of spectra) {
    byModule.set(moduleNameOfTensor(spectrum.name), spectrum)
    byMatrix.set(spectrum.name, spectrum)
  }
  const found = new Map<string, LayerSpectrum>()
  for (const target of targets) {
    const exact = target.matrix === undefined ? undefined : byMatrix.get(target.matrix)
    if (exact) {
      found.set(target.name, exact)
      continue
    }
    for (const candidate of moduleNameCandidates(target.name)) {
      const spectrum = byModule.get(candidate)
      if (spectrum) {
        found.set(target.name, spectrum)
        break
      }
    }
  }
  return found
}

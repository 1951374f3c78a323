/**
 * Facts about model families that the renderer needs without the engine (which keeps them per family in
 * engine/models): the decoders whose *ForSequenceClassification is a bias-free `score` on the token before
 * the first pad id — GPT-2 and the Llama-style decoders (Llama, Mistral, Qwen2).
 */
export const decoderModelTypes: readonly string[] = ['gpt2', 'llama', 'mistral', 'qwen2']

export function isDecoderModelType(modelType: string | undefined): boolean {
  return modelType !== undefined && decoderModelTypes.includes(modelType)
}

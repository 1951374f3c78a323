import { describe, expect, it } from 'vitest'
import type { ExportFacts } from '@shared/exportOptions'
import { loadSnippet } from '@renderer/lib/loadSnippets'

// The lines the Export step shows under each output, in docs/export.md's forms, per task and model class.

const facts = (task: ExportFacts['task'], model: Partial<ExportFacts['model']> = {}): ExportFacts => ({ method: 'siva', task, model: { format: 'safetensors', transformers: true, ...model } })

describe('the lines that load an export', () => {
  it('a ViT image classifier: the image Auto classes, and AutoPeftModel with the run’s classes', () => {
    const context = { facts: facts('image-classify', { modelType: 'vit', transformersClass: 'ViTForImageClassification' }), baseModel: '/m/vit', labels: ['0', '1', '2'] }
    expect(loadSnippet('merged', '/out/merged', context)?.text).toBe(
      ['from transformers import AutoModelForImageClassification, AutoImageProcessor', '', 'model = AutoModelForImageClassification.from_pretrained("/out/merged")   # loads as ViTForImageClassification', 'processor = AutoImageProcessor.from_pretrained("/out/merged")'].join('\n')
    )
    const peft = loadSnippet('peft-lora', '/out/peft', context)!.text
    expect(peft.split('\n')[0]).toBe('from peft import AutoPeftModel')
    expect(peft).toContain('id2label = {0: "0", 1: "1", 2: "2"}')
  })

  it('GPT-2: a causal LM loads with the CausalLM classes; a classifier gets the pad token its batches need', () => {
    const lm = { facts: facts('causal-lm', { modelType: 'gpt2', transformersClass: 'GPT2LMHeadModel' }), baseModel: '/m/gpt2' }
    expect(loadSnippet('merged', '/o/m', lm)?.text).toContain('model = AutoModelForCausalLM.from_pretrained("/o/m")')
    expect(loadSnippet('peft-lora', '/o/p', lm)?.text).toBe('from peft import AutoPeftModelForCausalLM\n\nmodel = AutoPeftModelForCausalLM.from_pretrained("/o/p")')
    const classify = loadSnippet('peft-lora', '/o/p', { facts: facts('classify', { modelType: 'gpt2' }), baseModel: '/m/gpt2', labels: ['food', 'other'] })!.text
    expect(classify).toContain('tokenizer = AutoTokenizer.from_pretrained("/m/gpt2", split_special_tokens=True)')
    expect(classify).toContain('tokenizer.pad_token = tokenizer.eos_token')
    expect(classify).toContain('ignore_mismatched_sizes=True, pad_token_id=tokenizer.eos_token_id)')
  })

  it('quotes paths for Python and the shell, and writes no load lines for the report', () => {
    const context = { facts: facts('regress', { modelType: 'bert' }), baseModel: "/models/bob's bert" }
    expect(loadSnippet('merged', 'C:\\runs\\r "1"\\merged', context)?.text).toContain('from_pretrained("C:\\\\runs\\\\r \\"1\\"\\\\merged")')
    expect(loadSnippet('adapter', '/runs/my run/adapter', context)?.text).toBe(`siva export --apply '/runs/my run/adapter' --base '/models/bob'\\''s bert' --merged '/runs/my run/adapter-merged'`)
    expect(loadSnippet('peft-lora', '/p', context)?.text).toContain('"/p", num_labels=1, ignore_mismatched_sizes=True)')
    expect(loadSnippet('report', '/r', context)).toBeUndefined()
  })
})

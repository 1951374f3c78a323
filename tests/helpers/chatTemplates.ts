import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { hfFixture } from './hfref'

/**
 * Chat templates for hfref's fixtures, whose tokenizers ship without one: written here in Qwen2's ChatML
 * layout (its default system prompt when the conversation has none), and a copy of a fixture with one.
 */
export const chatmlTemplate =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

/** A copy of hfref's `fixture` in `dir/name` whose tokenizer_config.json carries `template`. */
export function withChatTemplate(fixture: string, dir: string, name: string, template: unknown): string {
  const folder = join(dir, name)
  cpSync(hfFixture(fixture), folder, { recursive: true })
  const file = join(folder, 'tokenizer_config.json')
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  writeFileSync(file, JSON.stringify({ ...config, chat_template: template }, null, 2))
  return folder
}

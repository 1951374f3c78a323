/**
 * A long identifier (BertForSequenceClassification, encoder.layer.0.attention) cut into the pieces a line
 * may break between: before each capitalised word (Bert|For, LM|Head, ViT|For), after a digit (GPT2|LM),
 * and after each dot, underscore, slash or hyphen. Joined they are the name again; a view puts <wbr> between them so a narrow
 * cell wraps at a word, never in the middle of one.
 */
export function nameBreaks(name: string): string[] {
  return name.split(/(?<=[A-Za-z0-9])(?=[A-Z][a-z])|(?<=[0-9])(?=[A-Z])|(?<=[._/-])(?=.)/).filter((part) => part !== '')
}

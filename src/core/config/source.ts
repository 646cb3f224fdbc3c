import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from 'yaml';

export type FieldPath = readonly (string | number)[];

export interface SourceLocation {
  file: string;
  line: number;
  col: number;
}

/** A parsed YAML file that can say where any field path sits in the text. */
export interface YamlSource {
  file: string;
  text: string;
  document: Document.Parsed;
  syntaxErrors: { message: string; location: SourceLocation }[];
  /** The line and column of a character offset in the text. */
  position(offset: number): SourceLocation;
  locate(path: FieldPath, at?: 'key' | 'value'): SourceLocation;
}

export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  const syntaxErrors = document.errors.map((error) => ({
    message: error.message.split('\n')[0] ?? error.message,
    location: position(error.pos[0]),
  }));

  const locate = (path: FieldPath, at: 'key' | 'value' = 'value'): SourceLocation => {
    let node: unknown = document.contents;
    let best: number = (document.contents as Node | null)?.range?.[0] ?? 0;
    for (let index = 0; index < path.length; index++) {
      const segment = path[index];
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
        );
        if (!pair) break;
        const last = index === path.length - 1;
        const keyNode = pair.key as Node;
        if (last && (at === 'key' || pair.value == null)) {
          best = keyNode.range?.[0] ?? best;
          node = undefined;
          break;
        }
        best = keyNode.range?.[0] ?? best;
        node = pair.value;
        const valueStart = (node as Node | null)?.range?.[0];
        if (valueStart !== undefined) best = valueStart;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as Node | undefined;
        if (!item?.range) break;
        best = item.range[0];
        node = item;
      } else {
        break;
      }
    }
    return position(best);
  };

  return { file, text, document, syntaxErrors, position, locate };
}

/** `clients[0].allowedIps[2]` — how a field path is shown to people. */
export function formatFieldPath(path: FieldPath): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    if (!/^[A-Za-z_][\w-]*$/.test(segment)) return `${text}[${JSON.stringify(segment)}]`;
    return text === '' ? segment : `${text}.${segment}`;
  }, '');
}

/** Aliases a config may expand: plenty for anchors reused by hand, far too few for a "billion laughs" bomb. */
export const MAX_YAML_ALIASES = 100;

/**
 * The document as plain data, with alias expansion bounded: a document whose aliases expand past the limit (an
 * exponential "billion laughs" bomb) is refused at its first alias instead of exhausting memory or time.
 */
export function toPlainData(source: {
  document: Document.Parsed;
}): { ok: true; value: unknown } | { ok: false; message: string; offset: number } {
  try {
    return { ok: true, value: source.document.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown };
  } catch (error) {
    if (!(error instanceof ReferenceError) || !/alias/i.test(error.message)) throw error;
    let offset = 0;
    visit(source.document, {
      Alias(_key, node) {
        offset = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    return {
      ok: false,
      message: `YAML aliases here expand past ${MAX_YAML_ALIASES} copies (an alias bomb?); write the values out instead`,
      offset,
    };
  }
}

// A strict reader of the Prometheus text format (version 0.0.4) for tests: samples with their labels
// unescaped, so that a test compares what a scraper would see. Throws on any line it cannot read.

export interface ExposedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/;

export function parseExposition(text: string): ExposedSample[] {
  const samples: ExposedSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    // As Go's ParseFloat reads them (prom-client writes NaN as "Nan").
    const word = match[3]!.toLowerCase();
    const value = word === "+inf" ? Infinity : word === "-inf" ? -Infinity : Number(match[3]);
    if (Number.isNaN(value) && word !== "nan") throw new Error(`bad value in ${JSON.stringify(line)}`);
    samples.push({ name: match[1]!, labels: parseLabels(match[2] ?? "", line), value });
  }
  return samples;
}

/** `{a="x",b="y\"z"}`: values unescaped (\\, \", \n). */
function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === "") return labels;
  let i = 1;
  const end = text.length - 1;
  while (i < end) {
    const eq = text.indexOf("=", i);
    if (eq < 0 || text[eq + 1] !== '"') throw new Error(`bad labels in ${JSON.stringify(line)}`);
    const name = text.slice(i, eq);
    let value = "";
    let j = eq + 2;
    for (; j < end && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        j++;
        const escaped = text[j];
        if (escaped === "n") value += "\n";
        else if (escaped === "\\" || escaped === '"') value += escaped;
        else throw new Error(`bad escape \\${escaped} in ${JSON.stringify(line)}`);
      } else {
        value += text[j];
      }
    }
    if (text[j] !== '"') throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
  }
  return labels;
}

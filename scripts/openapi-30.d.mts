/** Types of scripts/openapi-30.mjs for the TypeScript tests that import it. */
export interface ConversionLoss {
  /** JSON pointer into the 3.1 input. */
  pointer: string;
  keyword: string;
  note: string;
}

export function convertToOpenApi30(input: object): { document: { [key: string]: unknown }; losses: ConversionLoss[] };

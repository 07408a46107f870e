// Prepares a variant's TypeScript source to run from a temporary folder
// (load_variant.ts), in three rewrites done on the syntax tree, never on
// text:
//   1. every loop body starts with a call to tickVariantBudget()
//      (variant_budget.ts), so a hook that never yields ends as a model
//      error naming the variant instead of hanging the tool;
//   2. every relative module specifier (import, export ... from, import())
//      becomes an absolute file URL resolved against the place the variant
//      was written for, so the copy imports the same model modules (the
//      same instances) as the tool itself;
//   3. the result is plain ESM JavaScript, so nothing else needs compiling.

import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const TICK = '__mshareCheckTick';

/** `./x.js` next to `from` as a file URL, preferring the .ts source a .js specifier stands for. */
function absoluteSpecifier(spec: string, from: string): string {
  const abs = resolve(dirname(from), spec);
  const source = abs.replace(/\.js$/, '.ts');
  return pathToFileURL(!existsSync(abs) && existsSync(source) ? source : abs).href;
}

export function instrumentVariant(source: string, writtenAt: string, budgetModule: string): string {
  const rewrite = (spec: ts.Expression | undefined, f: ts.NodeFactory) =>
    spec && ts.isStringLiteral(spec) && spec.text.startsWith('.') ? f.createStringLiteral(absoluteSpecifier(spec.text, writtenAt)) : spec;

  const transformer: ts.TransformerFactory<ts.SourceFile> = (ctx) => {
    const f = ctx.factory;
    const tick = () => f.createExpressionStatement(f.createCallExpression(f.createIdentifier(TICK), undefined, []));
    const withTick = (body: ts.Statement) => f.createBlock([tick(), ...(ts.isBlock(body) ? body.statements : [body])], true);
    const visit = (node: ts.Node): ts.Node => {
      const n = ts.visitEachChild(node, visit, ctx);
      if (ts.isForStatement(n)) return f.updateForStatement(n, n.initializer, n.condition, n.incrementor, withTick(n.statement));
      if (ts.isForOfStatement(n)) return f.updateForOfStatement(n, n.awaitModifier, n.initializer, n.expression, withTick(n.statement));
      if (ts.isForInStatement(n)) return f.updateForInStatement(n, n.initializer, n.expression, withTick(n.statement));
      if (ts.isWhileStatement(n)) return f.updateWhileStatement(n, n.expression, withTick(n.statement));
      if (ts.isDoStatement(n)) return f.updateDoStatement(n, withTick(n.statement), n.expression);
      if (ts.isImportDeclaration(n)) return f.updateImportDeclaration(n, n.modifiers, n.importClause, rewrite(n.moduleSpecifier, f)!, n.attributes);
      if (ts.isExportDeclaration(n) && n.moduleSpecifier) return f.updateExportDeclaration(n, n.modifiers, n.isTypeOnly, n.exportClause, rewrite(n.moduleSpecifier, f), n.attributes);
      if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments.length > 0) {
        return f.updateCallExpression(n, n.expression, n.typeArguments, [rewrite(n.arguments[0], f)!, ...n.arguments.slice(1)]);
      }
      return n;
    };
    return (sf) => {
      const body = ts.visitNode(sf, visit) as ts.SourceFile;
      const imp = f.createImportDeclaration(
        undefined,
        f.createImportClause(false, undefined, f.createNamedImports([f.createImportSpecifier(false, f.createIdentifier('tickVariantBudget'), f.createIdentifier(TICK))])),
        f.createStringLiteral(pathToFileURL(budgetModule).href),
      );
      return f.updateSourceFile(body, [imp, ...body.statements]);
    };
  };

  const out = ts.transpileModule(source, {
    fileName: writtenAt,
    // An inline source map: stack traces of variant code name the variant's own file and line.
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false, inlineSourceMap: true, sourceRoot: pathToFileURL(dirname(writtenAt)).href + '/' },
    transformers: { before: [transformer] },
    reportDiagnostics: false,
  });
  return out.outputText;
}

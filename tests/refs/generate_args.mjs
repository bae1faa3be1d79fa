// Command-line flags shared by the reference generators (reference_loop.mjs, tjs_generate.mjs):
// --model DIR --dtype q4 --prompt-ids JSON | --prompt-ids-file F --max-new-tokens N --threads T --timing.
// `flags` adds script-specific ones: { '--flag': (a, next) => ... }.
import fs from 'node:fs';

export function parseGenerateArgs(argv, flags = {}) {
  const a = { dtype: 'q4', maxNewTokens: 64, promptIds: null, threads: 1 };
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    switch (k) {
      case '--model': a.model = next(); break;
      case '--dtype': a.dtype = next(); break;
      case '--prompt-ids': a.promptIds = JSON.parse(next()); break;
      case '--prompt-ids-file': a.promptIds = JSON.parse(fs.readFileSync(next(), 'utf8')); break;
      case '--max-new-tokens': a.maxNewTokens = Number(next()); break;
      case '--threads': a.threads = Number(next()); break;
      case '--timing': a.timing = true; break;
      default:
        if (!flags[k]) throw new Error(`unknown argument '${k}'`);
        flags[k](a, next);
    }
  }
  return a;
}

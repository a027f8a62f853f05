import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vite';

/**
 * Writes dist/bundle-modules.json: every module in the JavaScript chunks (what the bundle is made of), and for each
 * Node built-in Vite replaced by its empty browser stub, the modules that import it.
 */
function bundleModules() {
  let outDir = 'dist';
  return {
    name: 'bundle-modules',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    generateBundle(_options, bundle) {
      const chunks = Object.values(bundle).filter((c) => c.type === 'chunk').map((c) => ({ file: c.fileName, modules: Object.keys(c.modules) }));
      const nodeBuiltins = {};
      for (const id of this.getModuleIds()) {
        if (id.includes('__vite-browser-external')) nodeBuiltins[id] = [...(this.getModuleInfo(id)?.importers ?? [])];
      }
      this.emitFile({ type: 'asset', fileName: 'bundle-modules.json', source: JSON.stringify({ chunks, nodeBuiltins }, null, 1) });
    },
  };
}

export default defineConfig({
  plugins: [bundleModules()],
  // onnxruntime-web finds its .wasm next to its bundle (new URL(…, import.meta.url)); Vite emits it under assets/.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, sourcemap: false },
});

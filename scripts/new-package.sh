#!/usr/bin/env bash
# usage: scripts/new-package.sh <dir-name> "<description>" [dep ...]
set -euo pipefail
name=$1; desc=$2; shift 2
dir=packages/$name
mkdir -p $dir/src $dir/test
deps=""
for d in "$@"; do deps="$deps\"$d\": \"workspace:*\","; done
deps=${deps%,}
cat > $dir/package.json <<JSON
{
  "name": "@whitebox/$name",
  "version": "0.1.0",
  "description": "$desc",
  "license": "MIT",
  "type": "module",
  "main": "./dist/index.js",
  "types": "./dist/index.d.ts",
  "exports": {
    ".": {
      "types": "./dist/index.d.ts",
      "default": "./dist/index.js"
    }
  },
  "files": ["dist", "README.md"],
  "scripts": {
    "build": "tsc -p tsconfig.json",
    "typecheck": "tsc -p tsconfig.json --noEmit"
  },
  "dependencies": {$deps}
}
JSON
cat > $dir/tsconfig.json <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": "src", "outDir": "dist" },
  "include": ["src"]
}
JSON
[ -f $dir/src/index.ts ] || echo "export {};" > $dir/src/index.ts
# npm metadata (description, keywords, repository, LICENSE copy, ...): add the package to PACKAGES in
# scripts/package-metadata.mjs, then run it (test/publish/metadata.test.ts fails until then).
node scripts/package-metadata.mjs || echo "add packages/$name to scripts/package-metadata.mjs PACKAGES and rerun it" >&2

// Obtains a pinned @node-llama-cpp/<platform> npm package with the npm client, checks the tarball against the
// pinned sha512, and copies its llama.cpp libraries and licence into the jar's resource folder with an index
// (natives.list: one "name sha256" line per file) that the Java loader reads.
//
// usage: node fetch-natives.mjs <package@version> <sha512-integrity> <platform> <cache dir> <output dir>
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [spec, integrity, platform, cacheDir, outDir] = process.argv.slice(2);
if (!outDir) {
    console.error('usage: node fetch-natives.mjs <package@version> <sha512-integrity> <platform> <cache dir> <output dir>');
    process.exit(2);
}
if (!integrity.startsWith('sha512-')) {
    console.error(`the pinned integrity must be a sha512 (npm "integrity" field), not ${integrity}`);
    process.exit(2);
}

function sha512(file) {
    return 'sha512-' + createHash('sha512').update(fs.readFileSync(file)).digest('base64');
}

fs.mkdirSync(cacheDir, { recursive: true });
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let tarball = fs.readdirSync(cacheDir).filter((f) => f.endsWith('.tgz')).map((f) => path.join(cacheDir, f))
    .find((f) => sha512(f) === integrity);
if (!tarball) {
    const out = execFileSync(npm, ['pack', spec, '--pack-destination', cacheDir, '--json', '--silent'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], shell: process.platform === 'win32' });
    const info = JSON.parse(out.slice(out.indexOf('[')));
    tarball = path.join(cacheDir, info[0].filename);
}
const actual = sha512(tarball);
if (actual !== integrity) {
    console.error(`${spec}: the tarball ${tarball} has ${actual}, but the build pins ${integrity}; refusing it`);
    fs.rmSync(tarball, { force: true });
    process.exit(1);
}

const unpacked = path.join(cacheDir, 'unpacked-' + platform);
fs.rmSync(unpacked, { recursive: true, force: true });
fs.mkdirSync(unpacked, { recursive: true });
execFileSync('tar', ['-xzf', tarball, '-C', unpacked], { stdio: 'inherit' });
const binDir = path.join(unpacked, 'package', 'bins', platform);
if (!fs.existsSync(binDir)) {
    console.error(`${spec} has no bins/${platform} folder`);
    process.exit(1);
}

// llama.cpp's own libraries only: the package's Node.js addon and its helper library are not needed.
const wanted = (name) => /^(lib)?(llama|ggml)[^/]*\.(so|dylib|dll|metal)$/.test(name) && !name.includes('llama-common')
    || name === 'default.metallib';
fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });
const lines = [];
for (const name of fs.readdirSync(binDir).sort()) {
    if (!wanted(name)) {
        continue;
    }
    fs.copyFileSync(path.join(binDir, name), path.join(outDir, name));
    lines.push(`${name} ${createHash('sha256').update(fs.readFileSync(path.join(binDir, name))).digest('hex')}`);
}
if (!lines.some((l) => l.startsWith('libllama') || l.startsWith('llama'))) {
    console.error(`${spec}: no llama library found in bins/${platform}`);
    process.exit(1);
}
fs.copyFileSync(path.join(unpacked, 'package', 'LICENSE'), path.join(outDir, 'LICENSE.txt'));
const meta = JSON.parse(fs.readFileSync(path.join(binDir, '_nlcBuildMetadata.json'), 'utf8'));
fs.writeFileSync(path.join(outDir, 'natives.list'), lines.join('\n') + '\n');
fs.writeFileSync(path.join(outDir, 'natives.properties'), [
    `package=${spec}`,
    `integrity=${integrity}`,
    `llama.cpp.release=${meta.buildOptions?.llamaCpp?.release ?? 'unknown'}`,
    `gpu=${meta.buildOptions?.gpu ?? false}`,
    ''].join('\n'));
console.log(`${spec}: ${lines.length} libraries for ${platform} -> ${outDir}`);

package io.github.locallm.internal;

import io.github.locallm.LlmException;
import io.github.locallm.ModelSpec;
import io.github.locallm.ProviderInfo;
import io.github.locallm.ProviderNotFoundException;
import io.github.locallm.spi.LlmProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The installed backends, found once with {@link ServiceLoader}, and the rules that pick one for a spec or a
 * path.
 *
 * <p>A provider that fails to load ({@link ServiceConfigurationError}) or whose description methods throw
 * is remembered with its error and shown in messages; it never stops the others from loading.
 *
 * <p>Immutable and thread-safe; {@link #system()} loads lazily, once.
 */
public final class ProviderRegistry {
    private static final Pattern PROVIDER_CLASS = Pattern.compile("Provider (\\S+)");
    private static final int MAX_ENTRIES = 1000;

    private final List<Entry> entries;

    /** One discovered provider, or the error that kept it from loading. */
    private record Entry(LlmProvider provider, ProviderInfo info) {
        boolean ok() {
            return provider != null;
        }
    }

    private ProviderRegistry(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    private static final class Holder {
        static final ProviderRegistry SYSTEM = load(ServiceLoader.load(LlmProvider.class).iterator());
    }

    /** @return the providers of the class path and module path, loaded on first use */
    public static ProviderRegistry system() {
        return Holder.SYSTEM;
    }

    /**
     * @param loader where to look for {@code META-INF/services} declarations and provider classes
     * @return the providers that loader sees
     */
    public static ProviderRegistry load(ClassLoader loader) {
        return load(ServiceLoader.load(LlmProvider.class, loader).iterator());
    }

    /**
     * @param providers an iterator that may throw {@link ServiceConfigurationError} from {@code hasNext}
     *     or {@code next}, as a service loader's does
     * @return the registry of what it yields
     */
    public static ProviderRegistry load(Iterator<LlmProvider> providers) {
        List<Entry> entries = new ArrayList<>();
        while (entries.size() < MAX_ENTRIES) {
            try {
                if (!providers.hasNext()) {
                    break;
                }
                entries.add(describe(providers.next()));
            } catch (ServiceConfigurationError e) {
                entries.add(new Entry(null, new ProviderInfo(brokenName(e), Set.of(), 0, message(e))));
            }
        }
        return new ProviderRegistry(entries);
    }

    private static Entry describe(LlmProvider p) {
        try {
            String name = p.name();
            Set<String> schemes = p.schemes();
            if (name == null || name.isBlank() || schemes == null || schemes.isEmpty()) {
                return new Entry(null, new ProviderInfo(p.getClass().getName(), Set.of(), 0,
                        "the provider has no name or no schemes"));
            }
            Set<String> lower = schemes.stream().map(s -> s.toLowerCase(Locale.ROOT))
                    .collect(Collectors.toCollection(java.util.LinkedHashSet::new));
            return new Entry(p, new ProviderInfo(name, lower, p.priority(), null));
        } catch (RuntimeException | LinkageError e) {
            return new Entry(null, new ProviderInfo(p.getClass().getName(), Set.of(), 0, message(e)));
        }
    }

    private static String brokenName(ServiceConfigurationError e) {
        Matcher m = PROVIDER_CLASS.matcher(String.valueOf(e.getMessage()));
        return m.find() ? m.group(1) : "unknown provider";
    }

    private static String message(Throwable e) {
        Throwable root = e;
        StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage()));
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
            sb.append(": ").append(root);
        }
        return sb.toString();
    }

    /** @return every discovered provider, broken ones with their error, in discovery order */
    public List<ProviderInfo> infos() {
        return entries.stream().map(Entry::info).collect(Collectors.toUnmodifiableList());
    }

    /**
     * Picks the provider for a spec.
     *
     * @param spec the parsed spec
     * @param backend an explicit backend name, which wins over priorities
     * @return the provider
     * @throws ProviderNotFoundException when none fits, naming what is installed and what to add
     * @throws LlmException when several fit with the same priority
     */
    public LlmProvider select(ModelSpec spec, Optional<String> backend) {
        String scheme = spec.scheme();
        if (backend.isPresent()) {
            LlmProvider p = byName(backend.get(), "'" + scheme + "' (from \"" + spec.original() + "\")");
            Set<String> schemes = lowerSchemes(p);
            if (!schemes.contains(scheme)) {
                throw new ProviderNotFoundException("Backend '" + p.name() + "' does not accept '" + scheme
                        + "' (from \"" + spec.original() + "\"); it accepts " + schemesText(p.name(), schemes)
                        + ". Use one of those schemes or choose another backend.");
            }
            return p;
        }
        List<Entry> candidates = new ArrayList<>();
        for (Entry e : entries) {
            if (e.ok() && e.info().schemes().contains(scheme)) {
                candidates.add(e);
            }
        }
        if (candidates.isEmpty()) {
            Optional<String> near = nearestInstalledScheme(scheme);
            if (near.isPresent()) {
                throw new ProviderNotFoundException("No backend accepts '" + scheme + "' (from \"" + spec.original()
                        + "\"). Did you mean '" + near.get() + "'? Installed: " + installedText() + ".");
            }
            throw new ProviderNotFoundException("No backend accepts '" + scheme + "' (from \"" + spec.original()
                    + "\"). Installed: " + installedText() + ". " + addHint(scheme));
        }
        return best(candidates, "'" + scheme + "' (from \"" + spec.original() + "\")");
    }

    /**
     * Picks the provider for a local path.
     *
     * @param path an existing file or directory
     * @param backend an explicit backend name, which wins
     * @return the provider
     * @throws ProviderNotFoundException when no provider recognises the path
     * @throws LlmException when several do with the same priority
     */
    public LlmProvider selectForPath(Path path, Optional<String> backend) {
        if (backend.isPresent()) {
            return byName(backend.get(), "the path " + path);
        }
        List<Entry> candidates = new ArrayList<>();
        for (Entry e : entries) {
            if (e.ok() && accepts(e.provider(), path)) {
                candidates.add(e);
            }
        }
        if (candidates.isEmpty()) {
            String expected = KnownBackends.all().stream().filter(b -> !b.paths().isEmpty())
                    .map(b -> b.paths() + " (backend " + b.name() + ", artifact " + b.artifact() + ")")
                    .collect(Collectors.joining(" or "));
            throw new ProviderNotFoundException("No backend accepts the path " + path + " (" + describePath(path)
                    + "). Expected " + expected + ". Installed: " + installedText() + ".");
        }
        return best(candidates, "the path " + path);
    }

    private static boolean accepts(LlmProvider p, Path path) {
        try {
            return p.accepts(path);
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static String describePath(Path path) {
        if (Files.isDirectory(path)) {
            return Files.isRegularFile(path.resolve("config.json")) ? "a directory with config.json"
                    : "a directory without config.json";
        }
        String name = String.valueOf(path.getFileName());
        int dot = name.lastIndexOf('.');
        return dot > 0 ? "a " + name.substring(dot) + " file" : "a file without extension";
    }

    private LlmProvider byName(String name, String forWhat) {
        for (Entry e : entries) {
            if (e.ok() && e.info().name().equalsIgnoreCase(name)) {
                return e.provider();
            }
        }
        Optional<KnownBackends.Backend> known = KnownBackends.byName(name);
        throw new ProviderNotFoundException("No backend named '" + name + "' is installed (asked for " + forWhat
                + "). Installed: " + installedText() + ". "
                + (known.isPresent() ? "Add the " + known.get().artifact() + " dependency." : addHint(name)));
    }

    private static LlmProvider best(List<Entry> candidates, String forWhat) {
        candidates.sort(Comparator.comparingInt((Entry e) -> e.info().priority()).reversed());
        int top = candidates.get(0).info().priority();
        List<Entry> tied = candidates.stream().filter(e -> e.info().priority() == top).collect(Collectors.toList());
        if (tied.size() > 1) {
            String names = tied.stream().map(e -> schemesText(e.info().name(), e.info().schemes()))
                    .collect(Collectors.joining(", "));
            String artifacts = tied.stream().map(e -> artifactOf(e.provider())).filter(Optional::isPresent)
                    .map(Optional::get).distinct().collect(Collectors.joining(", "));
            throw new LlmException("Several backends accept " + forWhat + " with the same priority " + top + ": "
                    + names + ". Choose one with OpenOptions.builder().backend(\"" + tied.get(0).info().name()
                    + "\") or remove one of them from the class path"
                    + (artifacts.isEmpty() ? "" : " (" + artifacts + ")") + ".");
        }
        return candidates.get(0).provider();
    }

    private String installedText() {
        if (entries.isEmpty()) {
            return "none";
        }
        return entries.stream().map(e -> e.ok() ? schemesText(e.info().name(), e.info().schemes())
                : e.info().name() + " (failed to load: " + e.info().error() + ")").collect(Collectors.joining(", "));
    }

    /** The installed scheme a misspelt one most likely meant: at most two edits away, and the closest. */
    private Optional<String> nearestInstalledScheme(String scheme) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (Entry e : entries) {
            if (!e.ok()) {
                continue;
            }
            for (String s : new TreeSet<>(e.info().schemes())) {
                int d = editDistance(scheme, s);
                if (d < bestDistance) {
                    best = s;
                    bestDistance = d;
                }
            }
        }
        return best != null && bestDistance <= Math.min(2, Math.max(1, scheme.length() / 3))
                ? Optional.of(best) : Optional.empty();
    }

    /** Edits (insertion, deletion, substitution, swap of neighbours) that turn {@code a} into {@code b}. */
    static int editDistance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    private static Optional<String> artifactOf(LlmProvider p) {
        try {
            Optional<String> a = p.artifact();
            return a == null ? Optional.empty() : a;
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private static String addHint(String scheme) {
        Optional<KnownBackends.Backend> owner = KnownBackends.byScheme(scheme);
        if (owner.isPresent()) {
            return "Add the " + owner.get().artifact() + " dependency.";
        }
        String known = KnownBackends.all().stream()
                .map(b -> b.artifact() + " (" + String.join(", ", ordered(b.name(), b.schemes())) + ")")
                .collect(Collectors.joining(", "));
        return "The backend artifacts are " + known + "; add the one for your model, or a third-party backend "
                + "that accepts '" + scheme + "'.";
    }

    private static Set<String> lowerSchemes(LlmProvider p) {
        return p.schemes().stream().map(s -> s.toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
    }

    // The backend's own name first, then its other schemes in order: "llamacpp [llamacpp, gguf]".
    private static String schemesText(String name, Collection<String> schemes) {
        return name + " " + ordered(name, schemes);
    }

    private static List<String> ordered(String name, Collection<String> schemes) {
        List<String> ordered = new ArrayList<>();
        if (schemes.contains(name)) {
            ordered.add(name);
        }
        new TreeSet<>(schemes).stream().filter(s -> !s.equals(name)).forEach(ordered::add);
        return ordered;
    }
}

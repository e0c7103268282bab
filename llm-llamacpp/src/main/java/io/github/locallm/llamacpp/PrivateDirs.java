package io.github.locallm.llamacpp;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** The per-user private directory ({@code <java.io.tmpdir>/locallm-llamacpp-<user>/}) native libraries are unpacked into. */
final class PrivateDirs {

    private PrivateDirs() {
    }

    static Path base() throws IOException {
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
        return create(Path.of(System.getProperty("java.io.tmpdir"), "locallm-llamacpp-" + user));
    }

    /** Creates the directory if needed and makes it readable by its owner only (where the file system allows). */
    static Path create(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            try {
                Files.createDirectories(dir);
            } catch (FileAlreadyExistsException ignored) {
                // another JVM created it first
            }
        }
        try {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system: the directory keeps the platform's default permissions
        }
        return dir;
    }
}

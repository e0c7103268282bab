package io.github.locallm.demo;

import io.github.locallm.modelkit.CheckpointModel;

import java.nio.file.Path;

/** Writes the Hugging Face checkpoint folder of a trained model. Stateless and thread-safe. */
final class CheckpointExport {
    private CheckpointExport() {
    }

    static void write(CheckpointModel model, Path dir) {
        System.out.println("Hugging Face checkpoint writer not available yet; skipped " + dir);
    }
}

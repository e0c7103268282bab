/**
 * The project's tiny demo model: its corpus, its trainer (TrainDemoModel)
 * and the trained files shipped as resources ({@link io.github.locallm.demo.DemoModel}).
 */
package io.github.locallm.demo;

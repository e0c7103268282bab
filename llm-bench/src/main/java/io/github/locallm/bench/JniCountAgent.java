package io.github.locallm.bench;

import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.ProtectionDomain;
import java.util.concurrent.atomic.AtomicLong;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * Counts the calls into DJL's PyTorch JNI: a Java agent that, as DJL's PyTorch classes load, puts a counter
 * increment before every call site of a method of {@code ai.djl.pytorch.jni.PyTorchLibrary} (the class that
 * declares every native method of the engine). {@link #count()} is then the number of JNI calls the process made
 * so far, or -1 when the agent is not installed.
 *
 * <p>Installed with {@code -javaagent:} and a jar that {@link #writeJar} makes (its manifest names this class;
 * the class itself is found on the class path). Thread-safe.
 */
public final class JniCountAgent {
    private static final String LIBRARY = "ai/djl/pytorch/jni/PyTorchLibrary";
    private static final String SELF = "io/github/locallm/bench/JniCountAgent";
    private static final AtomicLong CALLS = new AtomicLong();
    private static volatile boolean installed;

    private JniCountAgent() {
    }

    /**
     * Installs the counting transformer.
     *
     * @param args ignored
     * @param inst the instrumentation of this JVM
     */
    public static void premain(String args, Instrumentation inst) {
        inst.addTransformer(new ClassFileTransformer() {
            @Override
            public byte[] transform(ClassLoader loader, String name, Class<?> cls, ProtectionDomain domain,
                                    byte[] bytes) {
                if (name == null || !name.startsWith("ai/djl/pytorch/") || name.equals(LIBRARY)) {
                    return null;
                }
                try {
                    return instrument(bytes);
                } catch (RuntimeException e) {
                    // A class that cannot be rewritten is left as it was: its calls go uncounted.
                    return null;
                }
            }
        });
        installed = true;
    }

    private static byte[] instrument(byte[] bytes) {
        ClassReader reader = new ClassReader(bytes);
        ClassWriter writer = new ClassWriter(reader, 0);
        boolean[] changed = {false};
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String desc, String sig, String[] ex) {
                return new MethodVisitor(Opcodes.ASM9, super.visitMethod(access, name, desc, sig, ex)) {
                    @Override
                    public void visitMethodInsn(int op, String owner, String method, String d, boolean itf) {
                        if (owner.equals(LIBRARY) && !method.equals("<init>") && !method.equals("<clinit>")) {
                            super.visitMethodInsn(Opcodes.INVOKESTATIC, SELF, "hit", "()V", false);
                            changed[0] = true;
                        }
                        super.visitMethodInsn(op, owner, method, d, itf);
                    }
                };
            }
        }, 0);
        // The inserted call takes and leaves nothing on the stack: stack sizes and frames stay valid.
        return changed[0] ? writer.toByteArray() : null;
    }

    /** Counts one JNI call; called from the rewritten call sites. */
    public static void hit() {
        CALLS.incrementAndGet();
    }

    /** @return the JNI calls counted so far, or -1 when the agent is not installed */
    public static long count() {
        return installed ? CALLS.get() : -1;
    }

    /**
     * Writes an agent jar whose manifest names this class.
     *
     * @param jar where to write it
     * @return the jar
     * @throws java.io.IOException if it cannot be written
     */
    static Path writeJar(Path jar) throws java.io.IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(new Attributes.Name("Premain-Class"), JniCountAgent.class.getName());
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), m)) {
            out.flush();
        }
        return jar;
    }
}

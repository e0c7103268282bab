package io.github.locallm.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectNestedMethod;

import io.github.locallm.LocalLlm;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * The cancellation cases of the provider TCK fail on a backend that ignores its cancel signal: they are run
 * here, through the JUnit Platform, against the in-memory backend with {@code ignore_cancel=true}, and their
 * results are checked. A case that passed there could not tell a working backend from a broken one.
 */
class TckCatchesBrokenBackendsTest {

    private static final String RUN_BROKEN = "locallm.tck.runBrokenBackend";

    /** Keeps the broken backend's suite from running unless this test's launcher asks for it. */
    static final class OnlyThroughTheLauncher implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            return context.getConfigurationParameter(RUN_BROKEN).isPresent()
                    ? ConditionEvaluationResult.enabled("run by TckCatchesBrokenBackendsTest")
                    : ConditionEvaluationResult.disabled("a deliberately broken backend, run only by "
                            + "TckCatchesBrokenBackendsTest");
        }
    }

    /** The TCK on a backend that never looks at its cancel signal; run only through the launcher below. */
    @ExtendWith(OnlyThroughTheLauncher.class)
    static class CancelIgnoringTck extends LlmProviderTck {
        @Override
        protected LocalLlm openModel() {
            return LocalLlm.open("memory:broken?ctx=100000&ignore_cancel=true");
        }
    }

    private static Map<String, TestExecutionResult.Status> run(Class<?> group, String... methods) {
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (String m : methods) {
            request.selectors(selectNestedMethod(List.of(CancelIgnoringTck.class), group, m));
        }
        LauncherDiscoveryRequest built = request.configurationParameter(RUN_BROKEN, "true").build();
        Map<String, TestExecutionResult.Status> results = new TreeMap<>();
        Launcher launcher = LauncherFactory.create();
        launcher.execute(built, new TestExecutionListener() {
            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (id.isTest()) {
                    results.put(id.getDisplayName().replace("()", ""), result.getStatus());
                }
            }
        });
        return results;
    }

    @Test
    void everyCancellationCaseFailsOnABackendThatIgnoresCancel() {
        List<String> cases = new ArrayList<>(List.of("cancelFromAnotherThreadStopsPromptlyAndFreesTheModel",
                "closingTheIteratorCancels", "cancellingTheFutureCancelsTheGeneration"));
        Map<String, TestExecutionResult.Status> results = run(LlmProviderTck.Cancellation.class,
                cases.toArray(String[]::new));
        assertThat(results).as("cases run").containsOnlyKeys(cases);
        assertThat(results.values()).as("results on a backend that ignores cancel: %s", results)
                .containsOnly(TestExecutionResult.Status.FAILED);
        // the same model passes what does not depend on cancellation: the failures are the cancel's
        Map<String, TestExecutionResult.Status> control = run(LlmProviderTck.Determinism.class,
                "greedyCompletionIsRepeatable");
        assertThat(control).containsOnly(Map.entry("greedyCompletionIsRepeatable",
                TestExecutionResult.Status.SUCCESSFUL));
    }
}

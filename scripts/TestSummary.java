import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The summary at the end of {@code ./build test}: what ran, failed and was skipped in each module, and every reason
 * a test was skipped (a missing OpenCL or Vulkan driver, root-only cases), read from the surefire XML reports this
 * run wrote. Run by {@code ./build} as a single-file program: {@code java scripts/TestSummary.java ROOT SINCE_MILLIS}.
 */
public class TestSummary {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        long since = Long.parseLong(args[1]);
        Map<String, int[]> modules = new TreeMap<>(); // run, failed, skipped
        Map<String, Integer> reasons = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        var factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        try (Stream<Path> files = Files.find(root, 4, (p, a) -> p.getParent() != null
                && p.getParent().getFileName().toString().equals("surefire-reports")
                && p.getFileName().toString().startsWith("TEST-") && p.toString().endsWith(".xml")
                && a.lastModifiedTime().toMillis() >= since)) {
            for (Path report : files.sorted().toList()) {
                String module = root.relativize(report).getName(0).toString();
                int[] m = modules.computeIfAbsent(module, k -> new int[3]);
                Document doc = factory.newDocumentBuilder().parse(report.toFile());
                NodeList cases = doc.getElementsByTagName("testcase");
                for (int i = 0; i < cases.getLength(); i++) {
                    Element c = (Element) cases.item(i);
                    String name = simple(c.getAttribute("classname")) + "." + c.getAttribute("name");
                    m[0]++;
                    if (c.getElementsByTagName("failure").getLength() + c.getElementsByTagName("error").getLength() > 0) {
                        m[1]++;
                        failures.add(module + ": " + name);
                    }
                    NodeList skipped = c.getElementsByTagName("skipped");
                    if (skipped.getLength() > 0) {
                        m[2]++;
                        reasons.merge(module + " " + simple(c.getAttribute("classname")) + ": "
                                + reason((Element) skipped.item(0)), 1, Integer::sum);
                    }
                }
            }
        }
        if (modules.isEmpty()) {
            System.out.println("owl2j tests: no test reports were written by this run");
            return;
        }
        int run = 0, failed = 0, skipped = 0;
        List<String> parts = new ArrayList<>();
        for (var e : modules.entrySet()) {
            run += e.getValue()[0];
            failed += e.getValue()[1];
            skipped += e.getValue()[2];
            parts.add(e.getKey() + " " + e.getValue()[0]);
        }
        System.out.println();
        System.out.printf("owl2j tests: %d run, %d failed, %d skipped (%s)%n", run, failed, skipped, String.join(", ", parts));
        for (String f : failures) {
            System.out.println("  failed: " + f);
        }
        for (var e : reasons.entrySet()) {
            System.out.printf("  skipped %d in %s%n", e.getValue(), e.getKey());
        }
    }

    /** The message of an assumption or @Disabled: an attribute, or the first line of the body after the type. */
    private static String reason(Element skipped) {
        String why = skipped.getAttribute("message");
        if (why.isBlank()) {
            why = skipped.getTextContent().strip().lines().findFirst().orElse("");
            why = why.replaceFirst("^[\\w.$]+(Exception|Error): ?", "");
        }
        return why.isBlank() ? "no reason given" : why.strip().lines().findFirst().orElse("");
    }

    private static String simple(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }
}

package flowpulse;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * Connects to flowpulse serve's analysts' endpoint the way DBeaver or DataGrip would, with
 * ClickHouse's JDBC driver, and prints one line per step for the test to check:
 * velocity, a bound parameter, a refused DROP, a bad password, and the table still there.
 * Usage: JdbcCheck JDBC_URL USER (password in $FLOWPULSE_ANALYST_PASSWORD)
 */
public final class JdbcCheck {
  public static void main(String[] args) throws Exception {
    String url = args[0];
    Properties props = new Properties();
    props.setProperty("user", args[1]);
    props.setProperty("password", System.getenv("FLOWPULSE_ANALYST_PASSWORD"));
    try (Connection connection = DriverManager.getConnection(url, props)) {
      System.out.println("version " + connection.getMetaData().getDatabaseProductVersion());
      try (Statement statement = connection.createStatement();
           ResultSet rows = statement.executeQuery("SELECT flow_type, toUInt32(sum(items)) AS items FROM flow_velocity GROUP BY flow_type ORDER BY flow_type")) {
        while (rows.next()) System.out.println("velocity " + rows.getString("flow_type") + " " + rows.getLong("items"));
      }
      try (PreparedStatement statement = connection.prepareStatement("SELECT toUInt32(sum(items)) FROM flow_velocity WHERE flow_type = ?")) {
        statement.setString(1, "defect");
        try (ResultSet rows = statement.executeQuery()) {
          rows.next();
          System.out.println("defects " + rows.getLong(1));
        }
      }
      // Answers past 128 bytes and past one 1 MiB block: the framing's longer paths.
      try (Statement statement = connection.createStatement();
           ResultSet rows = statement.executeQuery("SELECT item_id, title FROM flow_items ORDER BY item_id")) {
        long count = 0;
        while (rows.next()) count++;
        System.out.println("items " + count);
      }
      try (Statement statement = connection.createStatement();
           ResultSet rows = statement.executeQuery("SELECT repeat('x', 1000) AS s FROM numbers(3000)")) {
        long chars = 0;
        while (rows.next()) chars += rows.getString(1).length();
        System.out.println("chars " + chars);
      }
      try (Statement statement = connection.createStatement()) {
        statement.execute("DROP TABLE work_items");
        System.out.println("drop succeeded");
      } catch (SQLException refused) {
        System.out.println("drop refused " + refused.getErrorCode() + " " + oneLine(refused.getMessage()));
      }
      try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery("SELECT count() FROM work_items")) {
        rows.next();
        System.out.println("work_items " + rows.getLong(1));
      }
    }
    Properties wrong = new Properties();
    wrong.setProperty("user", args[1]);
    wrong.setProperty("password", "not-the-password");
    try (Connection connection = DriverManager.getConnection(url, wrong);
         Statement statement = connection.createStatement();
         ResultSet rows = statement.executeQuery("SELECT 1")) {
      System.out.println("bad password accepted");
    } catch (SQLException refused) {
      System.out.println("bad password refused " + oneLine(refused.getMessage()));
    }
  }

  private static String oneLine(String text) {
    return text == null ? "" : text.replace('\n', ' ');
  }
}
